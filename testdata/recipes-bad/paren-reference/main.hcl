# References must be plain kind.name[.output] traversals; anything built
# around one is rejected without evaluating it.
files "src" {
  path = "data"
}

exec "upper" {
  inputs = {
    a = (files.src).tree # ERROR: Not a step reference
    b = (files.src) # ERROR: Not a step reference
    c = true.tree # ERROR: Not a step reference
    d = "${files.src}" # ERROR: Not a step reference
  }
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}
