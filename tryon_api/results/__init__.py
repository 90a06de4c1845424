"""Result URLs: short-lived links to a job's stored images (S3 presigned GETs on AWS, links the
local server signs and answers locally)."""
