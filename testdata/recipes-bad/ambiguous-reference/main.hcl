files "src" {
  path = "data"
}

exec "two" {
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p a b"]
  outputs = ["a", "b"]
}

exec "use" {
  inputs  = { x = exec.two } # ERROR: Ambiguous step reference | exec.two has 2 outputs (a and b)
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}
