files "src" {
  path = "data"
}
