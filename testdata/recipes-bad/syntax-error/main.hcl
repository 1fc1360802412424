files "src" {
  path = "data"
}

exec "upper" { # ERROR: Unclosed configuration block
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
