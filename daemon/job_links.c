/*  job_links - the runtime links of a job, made on first need.

    Most queued jobs never need them: they are made when a job starts,
    ends or is waited for, and then live as long as the job.
*/
#include "job_links.h"
#include "job.h"
#include "util.h"

static const job_links_t s_no_links = {
    .deadline = {.index = HEAP_NONE},
};

const job_links_t *
job_links(const job_t *job)
{
    const job_links_t *links = job_extra(job)->links;
    return links ? links : &s_no_links;
}

job_links_t *
job_links_ensure(job_t *job)
{
    job_extra_t *extra = job_extra_ensure(job);
    if (!extra->links) {
        extra->links = util_zalloc(sizeof *extra->links);
        *extra->links = s_no_links;
        extra->links->job = job;
    }
    return extra->links;
}
