files "etc" {
  path = "/etc" # ERROR: Absolute source path | "/etc"
}
