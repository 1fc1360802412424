files "src" {
  path = "data"
}

exec "a" {
  inputs = {
    text = files.src
    back = exec.b.out # ERROR: Dependency cycle | exec.a → exec.b → exec.a. Members: exec.a and exec.b.
  }
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}

exec "b" {
  inputs  = { x = exec.a.out }
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}
