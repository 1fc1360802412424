name = "hello" # ERROR: Unexpected attribute at top level | "name"

files "src" {
  path = "data"
}
