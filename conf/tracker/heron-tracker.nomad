# Nomad job for heron-tracker: one instance, health-checked on /healthz,
# registered in Consul as "heron-tracker" with Prometheus scraping /metrics.
# Run: nomad job run heron-tracker.nomad
job "heron-tracker" {
  datacenters = ["dc1"]
  type        = "service"

  group "tracker" {
    count = 1

    network {
      port "http" {
        static = 8888
      }
    }

    service {
      name = "heron-tracker"
      port = "http"
      tags = ["heron", "prometheus"]
      meta {
        metrics_path = "/metrics"
      }
      check {
        type     = "http"
        path     = "/healthz"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "heron-tracker" {
      driver = "raw_exec"

      config {
        command = "/usr/local/bin/heron-tracker"
        args = [
          "--config-file", "${NOMAD_TASK_DIR}/heron_tracker.yaml",
          "--bind", "0.0.0.0",
          "--port", "${NOMAD_PORT_http}",
          "--log-format", "json",
        ]
      }

      template {
        destination = "local/heron_tracker.yaml"
        data        = <<EOT
statemgrs:
  - type: zookeeper
    name: {{ env "NOMAD_DC" }}
    hostport: 127.0.0.1:2181
    rootpath: /heron
EOT
      }

      kill_signal  = "SIGTERM"
      kill_timeout = "15s"

      resources {
        cpu    = 500
        memory = 128
      }
    }
  }
}
