# ERROR-NOLOC: Undeclared variable | Did you mean "name"?
variable "name" {
  default = "world"
}

files "src" {
  path = "data"
}

exec "greet" {
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p out && echo ${var.name} > out/greeting"]
  outputs = ["out"]
}
