files "src" {
  path = "data"
  filter { # ERROR: Unsupported block type
    include = ["*.txt"]
  }
}
