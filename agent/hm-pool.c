/* hm-pool.c — being written. */
#include "hm-agent-private.h"
