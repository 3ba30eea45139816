#!/bin/sh
# Build a dataset as a Slurm job array: each task builds one part of the
# work units (--part auto: part (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN)
# / SLURM_ARRAY_TASK_STEP of SLURM_ARRAY_TASK_COUNT, so --array=0-7 and
# --array=1-8 both give parts 0 to 7 of 8); a job that depends on the array
# merges the parts. RECIPE, OUT and the inputs must be on a file system
# every node sees (see doc/scaling.md, "Job arrays").
#
#   jobid=$(sbatch --parsable --array=0-7 examples/slurm_build.sh RECIPE OUT)
#   sbatch --dependency=afterok:$jobid --wrap "eodkit merge RECIPE -o OUT -j 4"
#
# A task that was killed or requeued (time limit, preemption: --requeue)
# continues from its last finished work unit (--resume); a task whose part
# is already built ends at once. So after a failure, submit the same array
# again: only the parts not built yet are built.
#SBATCH --job-name=eodkit-part
#SBATCH --cpus-per-task=4
#SBATCH --requeue
set -eu
recipe=${1:?usage: slurm_build.sh RECIPE OUTPUT_DIR}
out=${2:?usage: slurm_build.sh RECIPE OUTPUT_DIR}
exec eodkit build "$recipe" -o "$out" --part auto --resume -j "${SLURM_CPUS_PER_TASK:-1}"
