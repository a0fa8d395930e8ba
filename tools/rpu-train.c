/* rpu-train (stub until it lands). */
#include "tools/cli.h"
#include "tools/progress.h"
#include "tools/train_report.h"

int main(int argc, char **argv) {
  (void)argc; (void)argv;
  cli_set_program("rpu-train");
  return cli_user_error("not implemented yet");
}
