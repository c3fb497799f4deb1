package testserver

// ZooKeeperJar is where the Debian zookeeper package installs the server.
const ZooKeeperJar = debianZooKeeperJar
