variable "name" { # ERROR: No value for required variable | pass -var name=VALUE
  type = string
}

variable "greeting" {
  default = "hello"
}

files "src" {
  path = "data"
}

exec "greet" {
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p out && echo ${var.greeting} ${var.name} > out/greeting"]
  outputs = ["out"]
}
