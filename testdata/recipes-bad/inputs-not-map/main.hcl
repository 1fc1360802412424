files "src" {
  path = "data"
}

exec "upper" {
  inputs  = files.src # ERROR: Inputs must be a map of references
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}
