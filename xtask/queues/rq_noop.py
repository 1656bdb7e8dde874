"""RQ's no-op job, in a module that imports nothing.

RQ's default worker forks a process for every job and imports the job's module in it, so
anything this module imported would be paid for by every job.
"""


def noop():
    """Does nothing: what is measured is the queue."""
