"""Media: uploads checked by content (magic bytes), stored behind a Storage interface (local disk by
default, served at /media; Aliyun OSS with KAZUO_MEDIA_STORAGE=oss, server/integrations/oss.py)."""
from server.media.storage import (  # noqa: F401
    LocalStorage, Storage, get_storage, key_of, media_origins, media_url, set_storage)
from server.media.upload import (  # noqa: F401
    DOCUMENT_KINDS, IMAGE_KINDS, StoredFile, detect_kind, read_upload, store_upload)
