/* hm-gc.c — being written. */
#include "hm-agent-private.h"
