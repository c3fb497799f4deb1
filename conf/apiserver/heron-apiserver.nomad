# Nomad job running heron-apiserver under raw_exec, as Heron's Nomad guide
# runs its API server: the cluster's ZooKeeper and Nomad addresses are set
# once here, the server uploads each topology package to itself (Heron's
# HttpUploader) and serves it, and the core package, to the containers.
#
#   nomad job run conf/apiserver/heron-apiserver.nomad
#   heron-submit submit nomad topology.yaml --service-url http://<host>:9000
#
# Adjust the paths, the ZooKeeper connect string and the datacenter.
job "heron-apiserver" {
  datacenters = ["dc1"]
  type        = "service"

  group "apiserver" {
    count = 1

    network {
      port "http" {
        static = 9000
      }
    }

    service {
      name = "heron-apiserver"
      port = "http"
      # Nomad's own service catalogue; use "consul" where Consul runs.
      provider = "nomad"

      check {
        type     = "http"
        path     = "/healthz"
        interval = "10s"
        timeout  = "2s"
      }
    }

    restart {
      attempts = 10
      interval = "5m"
      delay    = "5s"
      mode     = "delay"
    }

    task "heron-apiserver" {
      driver = "raw_exec"

      config {
        command = "/usr/local/bin/heron-apiserver"
        args = [
          "--cluster", "nomad",
          "--base-template", "nomad",
          "--port", "${NOMAD_PORT_http}",
          "--download-hostname", "${attr.unique.network.ip-address}",
          "--upload-dir", "/var/lib/heron-apiserver/files",
          "--heron-core-package-path", "/usr/local/heron/dist/heron-core.tar.gz",
          "-D", "heron.statemgr.connection.string=127.0.0.1:2181",
          "-D", "heron.nomad.scheduler.uri=http://127.0.0.1:4646",
          "-D", "heron.nomad.driver=raw_exec",
          "-D", "heron.class.uploader=org.apache.heron.uploader.http.HttpUploader",
          "-D", "heron.uploader.http.uri=http://${NOMAD_ADDR_http}/api/v1/file/upload",
          "-D", "heron.package.use_core_uri=true",
          "-D", "heron.package.core.uri=http://${NOMAD_ADDR_http}/api/v1/file/download/core",
        ]
      }

      env {
        HERON_LOG_FORMAT = "json"
      }

      # SIGTERM: heron-apiserver lets running requests finish first.
      kill_timeout = "45s"

      resources {
        cpu    = 200
        memory = 128
      }
    }
  }
}
