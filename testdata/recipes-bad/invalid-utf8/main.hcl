files "src" {
  path = "daÿtÃa" # ERROR: Invalid character encoding # ERROR: Unterminated template string
}
