#!/bin/sh
# Build a dataset as an AWS Batch array job of PARTS tasks, then merge it.
# Each child job runs `eodkit build RECIPE -o OUT --part auto --resume`
# (build.json): part AWS_BATCH_JOB_ARRAY_INDEX of AWS_BATCH_JOB_ARRAY_SIZE.
# The merge job (merge.json) depends on the whole array, so it starts once
# every child has succeeded. RECIPE, OUT and the inputs (or the recipe's
# remote inputs) must be on the EFS file system both job definitions mount
# at /mnt/eodkit; set its fileSystemId and your image in both files first.
#
#   examples/aws_batch/submit.sh JOB_QUEUE PARTS /mnt/eodkit/recipe.yaml /mnt/eodkit/out
#
# A child killed by a Spot reclaim or a time-out is retried (up to 3
# attempts) and continues from its last finished work unit; a child whose
# part is already built ends at once. After a failure, submit the same
# array again: only the parts not built yet are built. Exit codes 1 and 2
# (usage, recipe or inputs) are not retried: retrying would not help.
set -eu
here=$(dirname "$0")
queue=${1:?usage: submit.sh JOB_QUEUE PARTS RECIPE OUT}
parts=${2:?usage: submit.sh JOB_QUEUE PARTS RECIPE OUT}
recipe=${3:?usage: submit.sh JOB_QUEUE PARTS RECIPE OUT}
out=${4:?usage: submit.sh JOB_QUEUE PARTS RECIPE OUT}
aws batch register-job-definition --cli-input-json "file://$here/build.json" >/dev/null
aws batch register-job-definition --cli-input-json "file://$here/merge.json" >/dev/null
array=$(aws batch submit-job --job-name eodkit-parts --job-queue "$queue" \
    --job-definition eodkit-build --array-properties "size=$parts" \
    --parameters "recipe=$recipe,output=$out" --query jobId --output text)
aws batch submit-job --job-name eodkit-merge --job-queue "$queue" \
    --job-definition eodkit-merge --depends-on "jobId=$array" \
    --parameters "recipe=$recipe,output=$out" --query jobId --output text
