"""What BI tools read: the published copy of the marts, swapped in whole after every build."""
