/*
** CLI: MPI for `mpirun -n N eodkit build`. Each process (rank) builds one
** part of the work units; when all succeed, rank 0 merges them. MPI is only
** started when eodkit runs under mpirun (OpenMPI's or a PMIx launcher's
** environment), so a plain `eodkit build` never pays for it; without MPI
** at build time these functions describe a single process.
*/
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

#ifdef EODKIT_HAVE_MPI
#include <mpi.h>

static int started;

int cli_mpi_begin(int *rank, int *ranks)
{
    *rank = 0;
    *ranks = 1;
    if (getenv("OMPI_COMM_WORLD_SIZE") == NULL && getenv("PMIX_RANK") == NULL) {
        return EODKIT_OK;
    }
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "eodkit: error: MPI_Init failed under mpirun\n");
        return EODKIT_ERR_INTERNAL;
    }
    started = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, ranks);
    return EODKIT_OK;
}

int cli_mpi_all_ok(int status)
{
    int failed = status != EODKIT_OK, any = failed;

    if (started) {
        MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    }
    return !any;
}

void cli_mpi_end(void)
{
    if (started) {
        MPI_Finalize();
        started = 0;
    }
}

#else

int cli_mpi_begin(int *rank, int *ranks)
{
    *rank = 0;
    *ranks = 1;
    return EODKIT_OK;
}

int cli_mpi_all_ok(int status)
{
    return status == EODKIT_OK;
}

void cli_mpi_end(void)
{
}

#endif
