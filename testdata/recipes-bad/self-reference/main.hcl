files "src" {
  path = "data"
}

exec "loop" {
  inputs = {
    text = files.src
    prev = exec.loop # ERROR: Dependency cycle | exec.loop → exec.loop
  }
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}
