package de.gelsenkirchen.solr;

import java.nio.file.Path;
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
 *       an embedded ZooKeeper (ZkTestServer) on ZK_PORT and one Solr node per PORT
 *       (MiniSolrCloudCluster); uploads CONFIGSET_DIR as CONFIG_NAME and creates each
 *       collection with SHARDS shards of REPLICAS replicas
 * </pre>
 *
 * Everything on the HTTP side is Solr's own servlet; this class only starts and stops it.
 */
public final class Launcher {
  private static final String CONTEXT = "/solr";
  private static final long TIMEOUT_SECONDS = 120;

  private Launcher() {}

  public static void main(String[] args) throws Exception {
    String mode = args.length > 0 ? args[0] : "";
    if (mode.equals("standalone") && args.length == 3) {
      standalone(Path.of(args[1]), Integer.parseInt(args[2]));
    } else if (mode.equals("cloud") && args.length == 9) {
      cloud(Path.of(args[1]), Integer.parseInt(args[2]), ports(args[3]), Path.of(args[4]), args[5],
          args[6].split(","), Integer.parseInt(args[7]), Integer.parseInt(args[8]));
    } else {
      System.err.println("usage: Launcher standalone SOLR_HOME PORT\n"
          + "       Launcher cloud BASE_DIR ZK_PORT PORT,PORT CONFIGSET_DIR CONFIG_NAME"
          + " COLLECTION,... SHARDS REPLICAS");
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
      String configName, String[] collections, int shards, int replicas) throws Exception {
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
    for (int i = 0; i < ports.size(); i++) {
      JettySolrRunner node =
          cluster.startJettySolrRunner("node" + (i + 1), CONTEXT, jetty(ports.get(i)));
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
    say("SolrCloud ready");
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
