files "src" { # ERROR: Missing required argument | "path"
  include = ["*.txt"]
}

exec "upper" { # ERROR: Missing required argument | "outputs"
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p out"]
}
