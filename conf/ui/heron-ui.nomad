# Nomad job for heron-ui, the Heron web UI over a heron-tracker.
# Run: nomad job run -var tracker_url=http://tracker.service.consul:8888 heron-ui.nomad
# heron-ui must be on the client's PATH (raw_exec) or fetched with an artifact.
variable "tracker_url" {
  type    = string
  default = "http://127.0.0.1:8888"
}

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

variable "binary" {
  type    = string
  default = "/usr/local/bin/heron-ui"
}

job "heron-ui" {
  datacenters = var.datacenters
  type        = "service"

  group "ui" {
    count = 1

    network {
      port "http" {
        static = 8889
      }
    }

    service {
      name     = "heron-ui"
      port     = "http"
      provider = "nomad"

      check {
        type     = "http"
        path     = "/healthz"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "heron-ui" {
      driver = "raw_exec"

      config {
        command = var.binary
        args = [
          "--tracker-url", var.tracker_url,
          "--bind", "0.0.0.0",
          "--port", "${NOMAD_PORT_http}",
          "--log-format", "json",
        ]
      }

      # SIGTERM is heron-ui's graceful shutdown.
      kill_signal  = "SIGTERM"
      kill_timeout = "15s"

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
