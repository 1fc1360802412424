files "src" {
  path = "data"
}

exec "c" {
  inputs  = { x = exec.b.out }
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}

exec "b" {
  inputs  = { x = exec.a.out, text = files.src }
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}

exec "a" {
  inputs  = { x = exec.c.out } # ERROR: Dependency cycle | exec.a → exec.c → exec.b → exec.a. Members: exec.a, exec.b and exec.c.
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}

exec "after" {
  inputs  = { x = exec.a.out }
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}
