exec "upper" {
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}

files "src" { # ERROR: Duplicate step name | a.hcl:1
  path = "more"
}
