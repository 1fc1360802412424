files "src" {
  path = "data"
}

exec "upper" {
  inputs = {
    text = files.src
    text = files.src # ERROR: Duplicate input name | "text"
  }
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}
