files "src" {
  path = "data"
}

exec "upper" {
  inputs  = { text = files.scr } # ERROR: Unknown step reference | Did you mean "files.src"?
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}
