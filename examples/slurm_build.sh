#!/bin/sh
# Build a dataset as a Slurm job array: task I of N builds part I/N of the
# work units; a job that depends on the array merges the parts.
#
#   jobid=$(sbatch --parsable --array=0-7 examples/slurm_build.sh RECIPE OUT)
#   sbatch --dependency=afterok:$jobid --wrap "eodkit merge RECIPE -o OUT -j 4"
#
# A task that was killed or requeued (time limit, preemption) continues
# from its last finished work unit: --resume. See doc/scaling.md.
#SBATCH --job-name=eodkit-part
#SBATCH --cpus-per-task=4
set -eu
recipe=${1:?usage: slurm_build.sh RECIPE OUTPUT_DIR}
out=${2:?usage: slurm_build.sh RECIPE OUTPUT_DIR}
exec eodkit build "$recipe" -o "$out" --resume \
    --part "${SLURM_ARRAY_TASK_ID:?run me as a job array}/${SLURM_ARRAY_TASK_COUNT:?}" \
    -j "${SLURM_CPUS_PER_TASK:-1}"
