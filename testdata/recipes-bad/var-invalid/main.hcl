# ERROR-NOLOC: Invalid -var value | "many" is not a number
# ERROR-NOLOC: Invalid -var option | write -var NAME=VALUE
variable "copies" {
  type    = number
  default = 1
}

files "src" {
  path = "data"
}

exec "copy" {
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p out && seq ${var.copies} > out/n"]
  outputs = ["out"]
}
