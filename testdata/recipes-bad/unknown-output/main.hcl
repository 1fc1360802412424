files "src" {
  path = "data"
}

exec "upper" {
  inputs  = { text = files.src }
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}

exec "count" {
  inputs = {
    text = exec.upper.result # ERROR: Unknown step output | exec.upper has no output "result"; its outputs are out
  }
  command = ["sh", "-c", "mkdir -p n && wc -l inputs/text/* > n/count"]
  outputs = ["n"]
}
