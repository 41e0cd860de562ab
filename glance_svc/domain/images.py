"""The image service: create, show, list, update, delete, deactivate, tags, members.

(Being implemented; the options below are final.)
"""

from __future__ import annotations

from oslo_config import cfg

image_opts = [
    cfg.IntOpt("limit_param_default", default=25, min=1,
               help="Page size of image lists when the client gives no limit."),
    cfg.IntOpt("api_limit_max", default=1000, min=1,
               help="Largest page a client may ask for; larger limits are cut to this."),
    cfg.BoolOpt("show_image_direct_url", default=False,
                help="Show the first location of an image as 'direct_url'."),
    cfg.BoolOpt("show_multiple_locations", default=False,
                help="Show and allow editing of the 'locations' of an image."),
    cfg.BoolOpt("delayed_delete", default=False,
                help="Deleting an image with data moves it to pending_delete and leaves "
                     "the data for glance-scrubber to remove after scrub_time."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, image_opts)]
