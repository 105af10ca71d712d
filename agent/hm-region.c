/* hm-region.c — being written. */
#include "hm-agent-private.h"
