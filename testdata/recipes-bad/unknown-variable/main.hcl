variable "name" {
  default = "world"
}

files "src" {
  path = "data"
}

exec "greet" {
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p out && echo hello ${var.nme} > out/greeting"] # ERROR: Unknown variable | Did you mean "name"?
  outputs = ["out"]
}
