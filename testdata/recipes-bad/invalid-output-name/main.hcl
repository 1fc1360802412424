files "src" {
  path = "data"
}

exec "split" {
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p a/b"]
  outputs = ["a/b"] # ERROR: Invalid output name | "a/b"
}

exec "inside" {
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p x"]
  outputs = ["x", "x"] # ERROR: Duplicate output | "x"
}
