# exec.gen lacks outputs, which is reported once; the reference to
# exec.gen.out must not add a second, confusing "its outputs are ." error.

files "src" {
  path = "data"
}

exec "gen" { # ERROR: Missing required argument | "outputs"
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p out"]
}

exec "use" {
  inputs  = { x = exec.gen.out }
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}
