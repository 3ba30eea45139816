#!/bin/sh
# Build a dataset as a Google Cloud Batch job of taskCount tasks (build.json:
# 8), then merge it (merge.json). Each task runs `eodkit build RECIPE -o OUT
# --part auto --resume`: part BATCH_TASK_INDEX of BATCH_TASK_COUNT. Batch
# jobs cannot depend on one another, so this script waits for the parts
# before it submits the merge. The recipe, the output and the local inputs
# live on the NFS share (e.g. Filestore) both files mount at /mnt/eodkit:
# set its address, your image and the paths in both files first.
#
#   examples/gcp_batch/submit.sh REGION
#
# A task on a reclaimed Spot VM is retried (maxRetryCount) and continues
# from its last finished work unit; a task whose part is already built
# ends at once. After a failure, submit build.json again: only the parts
# not built yet are built. Exit codes 1 and 2 (usage, recipe or inputs)
# fail the task at once: retrying would not help.
set -eu
here=$(dirname "$0")
region=${1:?usage: submit.sh REGION}
job=eodkit-parts-$(date +%Y%m%d%H%M%S)
gcloud batch jobs submit "$job" --location "$region" --config "$here/build.json"
while :; do
    state=$(gcloud batch jobs describe "$job" --location "$region" \
        --format='value(status.state)')
    case $state in
    SUCCEEDED) break ;;
    FAILED | DELETION_IN_PROGRESS) echo "$job: $state" >&2; exit 1 ;;
    esac
    sleep 60
done
gcloud batch jobs submit "eodkit-merge-${job#eodkit-parts-}" --location "$region" \
    --config "$here/merge.json"
