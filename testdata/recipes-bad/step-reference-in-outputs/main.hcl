# outputs is a parameter like any other: a step reference there is a
# "Step reference in a parameter", not an unknown name (files.src exists).

files "src" {
  path = "data"
}

exec "upper" {
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p out"]
  outputs = [files.src] # ERROR: Step reference in a parameter
}
