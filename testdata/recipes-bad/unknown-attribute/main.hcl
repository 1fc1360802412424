files "src" {
  path = "data"
}

exec "upper" { # ERROR: Missing required argument | "command"
  inputs  = { text = files.src }
  comand  = ["sh", "-c", "mkdir -p out"] # ERROR: Unsupported argument | Did you mean "command"?
  outputs = ["out"]
}
