"""Notices to an organisation's supervisors: emergency accesses to its cases and the actions of
administrators on its accounts. Ids and codes only; names are looked up when shown."""
