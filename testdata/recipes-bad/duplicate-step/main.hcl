files "src" {
  path = "data"
}

files "src" { # ERROR: Duplicate step name | main.hcl:1
  path = "other"
}
