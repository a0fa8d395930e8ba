/* Runtime version of the linked library. */
#include "rpu/version.h"

const char *rpu_version(void) { return RPU_VERSION_STRING; }

int rpu_version_number(void) {
  return RPU_VERSION_MAJOR * 10000 + RPU_VERSION_MINOR * 100 + RPU_VERSION_PATCH;
}
