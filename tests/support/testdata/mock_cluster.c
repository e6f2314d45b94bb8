/*
 * A Kafka protocol peer for tests: librdkafka's mock cluster. Prints its bootstrap address, then reads
 * commands on stdin until EOF:
 *   topic <name> <partitions>   create a topic
 *   down <broker id>            take a broker down (connections refused)
 *   up <broker id>              bring it back
 * Every command is answered by a line "ok" or "error <why>".
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  int brokers = argc > 1 ? atoi(argv[1]) : 1;
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    return 1;
  }
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  char line[512], name[256];
  int n;
  while (fgets(line, sizeof(line), stdin)) {
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (sscanf(line, "topic %255s %d", name, &n) == 2) err = rd_kafka_mock_topic_create(mc, name, n, 1);
    else if (sscanf(line, "down %d", &n) == 1) err = rd_kafka_mock_broker_set_down(mc, n);
    else if (sscanf(line, "up %d", &n) == 1) err = rd_kafka_mock_broker_set_up(mc, n);
    else {
      printf("error unknown command\n");
      fflush(stdout);
      continue;
    }
    if (err) printf("error %s\n", rd_kafka_err2str(err));
    else printf("ok\n");
    fflush(stdout);
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
