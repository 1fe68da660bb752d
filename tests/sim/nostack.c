/* nostack.c — built instead of world.c while src/net or src/netd has no sources yet: the link
 * model and its self-test work, the scenario runs report themselves skipped. */
#include "sim.h"

bool sim_have_stack(void) { return false; }

int sim_run(const sim_opts *o)
{
    (void)o;
    return 77;
}
