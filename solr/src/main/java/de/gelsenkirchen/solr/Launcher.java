package de.gelsenkirchen.solr;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.solr.client.solrj.impl.CloudSolrClient;
import org.apache.solr.client.solrj.request.CollectionAdminRequest;
import org.apache.solr.cloud.MiniSolrCloudCluster;
import org.apache.solr.cloud.ZkTestServer;
import org.apache.solr.embedded.JettyConfig;
import org.apache.solr.embedded.JettySolrRunner;

/**
 * Runs Apache Solr in Solr's own embedded Jetty (JettySolrRunner of solr-test-framework) for
 * scripts/solr-ctl.sh, until the process receives SIGTERM:
 *
 * <pre>
 *   standalone SOLR_HOME PORT
 *       one node; SOLR_HOME holds solr.xml, configsets/ and the cores (core.properties)
 *   cloud BASE_DIR ZK_PORT PORT,PORT,... CONFIGSET_DIR CONFIG_NAME COLLECTION,... SHARDS REPLICAS
 *         CONTROL_DIR
 *       an embedded ZooKeeper (ZkTestServer) on ZK_PORT and one Solr node per PORT
 *       (MiniSolrCloudCluster); uploads CONFIGSET_DIR as CONFIG_NAME and creates each
 *       collection with SHARDS shards of REPLICAS replicas
 * </pre>
 *
 * Everything on the HTTP side is Solr's own servlet; this class only starts and stops it.
 *
 * <p>In cloud mode a test can stop and start one node while the others run, through files in
 * CONTROL_DIR (no port, nothing in front of Solr's HTTP layer): it writes {@code request}
 * (renamed into place) holding {@code ID stop N} or {@code ID start N}, N counting the nodes
 * from 1; the launcher answers in {@code reply} with {@code ID ok ...} or {@code ID error ...}.
 * "stop" returns once the node has left ZooKeeper's live nodes; "start" once it is live again
 * on its port and every replica of every collection is active (recovered).
 */
public final class Launcher {
  private static final String CONTEXT = "/solr";
  private static final long TIMEOUT_SECONDS = 120;

  private Launcher() {}

  public static void main(String[] args) throws Exception {
    String mode = args.length > 0 ? args[0] : "";
    if (mode.equals("standalone") && args.length == 3) {
      standalone(Path.of(args[1]), Integer.parseInt(args[2]));
    } else if (mode.equals("cloud") && args.length == 10) {
      cloud(Path.of(args[1]), Integer.parseInt(args[2]), ports(args[3]), Path.of(args[4]), args[5],
          args[6].split(","), Integer.parseInt(args[7]), Integer.parseInt(args[8]),
          Path.of(args[9]));
    } else {
      System.err.println("usage: Launcher standalone SOLR_HOME PORT\n"
          + "       Launcher cloud BASE_DIR ZK_PORT PORT,PORT CONFIGSET_DIR CONFIG_NAME"
          + " COLLECTION,... SHARDS REPLICAS CONTROL_DIR");
      System.exit(2);
    }
    Thread.currentThread().join(); // until SIGTERM runs the shutdown hook
  }

  private static JettyConfig jetty(int port) {
    return JettyConfig.builder().setPort(port).setContext(CONTEXT).stopAtShutdown(false).build();
  }

  private static void standalone(Path home, int port) throws Exception {
    JettySolrRunner solr = new JettySolrRunner(home.toString(), new Properties(), jetty(port));
    onShutdown(solr::stop);
    solr.start();
    say("standalone Solr at " + solr.getBaseUrl());
  }

  private static void cloud(Path base, int zkPort, List<Integer> ports, Path configset,
      String configName, String[] collections, int shards, int replicas, Path control)
      throws Exception {
    ZkTestServer zk = new ZkTestServer(base.resolve("zookeeper"), zkPort);
    zk.run();
    say("ZooKeeper at " + zk.getZkAddress());
    MiniSolrCloudCluster cluster =
        new MiniSolrCloudCluster(0, base, MiniSolrCloudCluster.DEFAULT_CLOUD_SOLR_XML,
            jetty(0), zk, true);
    onShutdown(() -> {
      cluster.shutdown();
      zk.shutdown();
    });
    cluster.uploadConfigSet(configset, configName);
    List<JettySolrRunner> nodes = new ArrayList<>();
    for (int i = 0; i < ports.size(); i++) {
      JettySolrRunner node =
          cluster.startJettySolrRunner("node" + (i + 1), CONTEXT, jetty(ports.get(i)));
      nodes.add(node);
      say("Solr node " + (i + 1) + " at " + node.getBaseUrl());
    }
    cluster.waitForAllNodes((int) TIMEOUT_SECONDS);
    CloudSolrClient client = cluster.getSolrClient();
    for (String name : collections) {
      CollectionAdminRequest.createCollection(name, configName, shards, replicas)
          .process(client);
      cluster.waitForActiveCollection(name, TIMEOUT_SECONDS, TimeUnit.SECONDS, shards,
          shards * replicas);
      say("collection " + name + ": " + shards + " shards x " + replicas + " replicas, active");
    }
    new Control(control, cluster, nodes, collections).start();
    say("SolrCloud ready");
  }

  /** The control channel of a cloud: one request file at a time, answered in a reply file. */
  private static final class Control extends Thread {
    private final Path dir;
    private final MiniSolrCloudCluster cluster;
    private final List<JettySolrRunner> nodes;
    private final String[] collections;

    Control(Path dir, MiniSolrCloudCluster cluster, List<JettySolrRunner> nodes,
        String[] collections) throws Exception {
      super("launcher-control");
      setDaemon(true);
      this.dir = dir;
      this.cluster = cluster;
      this.nodes = nodes;
      this.collections = collections;
      Files.createDirectories(dir);
      Files.deleteIfExists(dir.resolve("request"));
      Files.deleteIfExists(dir.resolve("reply"));
    }

    @Override
    public void run() {
      Path request = dir.resolve("request");
      while (true) {
        try {
          if (Files.exists(request)) {
            String line = Files.readString(request, StandardCharsets.UTF_8).trim();
            Files.delete(request);
            String[] words = line.split("\\s+");
            String id = words[0];
            String answer;
            try {
              answer = id + " ok " + execute(words);
            } catch (Exception e) {
              answer = id + " error " + e;
            }
            say("control: " + line + " -> " + answer);
            Path tmp = dir.resolve("reply.tmp");
            Files.writeString(tmp, answer + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, dir.resolve("reply"), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
          }
          Thread.sleep(100);
        } catch (InterruptedException e) {
          return;
        } catch (Exception e) {
          say("control: " + e);
        }
      }
    }

    private String execute(String[] words) throws Exception {
      if (words.length != 3 || !words[2].matches("[0-9]+")) {
        throw new IllegalArgumentException("expected: ID stop|start NODE");
      }
      int n = Integer.parseInt(words[2]);
      if (n < 1 || n > nodes.size()) {
        throw new IllegalArgumentException("no node " + n + " (1.." + nodes.size() + ")");
      }
      JettySolrRunner node = nodes.get(n - 1);
      switch (words[1]) {
        case "stop":
          if (!node.isRunning()) {
            return "node " + n + " was stopped already";
          }
          cluster.stopJettySolrRunner(node);
          cluster.waitForJettyToStop(node);
          return "node " + n + " stopped (port " + node.getLocalPort() + ")";
        case "start":
          if (node.isRunning()) {
            return "node " + n + " was running already";
          }
          cluster.startJettySolrRunner(node, true);
          cluster.waitForNode(node, (int) TIMEOUT_SECONDS);
          for (String name : collections) {
            cluster.waitForActiveCollection(name, TIMEOUT_SECONDS, TimeUnit.SECONDS);
          }
          return "node " + n + " started at " + node.getBaseUrl() + ", every replica active";
        default:
          throw new IllegalArgumentException("unknown command " + words[1]);
      }
    }
  }

  private static List<Integer> ports(String csv) {
    List<Integer> ports = new ArrayList<>();
    for (String p : csv.split(",")) {
      ports.add(Integer.parseInt(p.trim()));
    }
    return ports;
  }

  private interface Stop {
    void run() throws Exception;
  }

  private static void onShutdown(Stop stop) {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      say("stopping");
      try {
        stop.run();
      } catch (Exception e) {
        System.err.println("error while stopping: " + e);
      }
    }));
  }

  private static void say(String message) {
    System.out.println("launcher: " + message);
    System.out.flush();
  }
}
