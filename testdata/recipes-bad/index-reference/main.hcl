# Index syntax is not a way to name a step or an output. The user should be
# told that the reference is malformed, not that a step output named ""
# is missing or that no step was named.
files "src" {
  path = "data"
}

exec "upper" {
  inputs  = { text = files.src[0] } # ERROR: Invalid step reference | Write kind.name or kind.name.output
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}

exec "lower" {
  inputs  = { text = files["src"] } # ERROR: Invalid step reference | Write kind.name or kind.name.output
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}

exec "legacy" {
  inputs  = { text = exec.upper.0 } # ERROR: Invalid step reference | Write kind.name or kind.name.output
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}

exec "kindindex" {
  inputs  = { text = files[0] } # ERROR: Invalid step reference | Write kind.name or kind.name.output
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}
