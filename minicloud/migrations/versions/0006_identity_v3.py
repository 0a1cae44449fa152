"""identity: domains, groups, implied roles, assignments beyond projects, project tags (Keystone v3)

Revision ID: 0006
Revises: 0005

Columns are added in place (``ALTER TABLE ... ADD COLUMN``), never by copying a table: with
SQLite's foreign keys on, dropping the old copy of ``roles`` or ``projects`` would cascade into
the rows that reference them. The old ``role_assignments`` rows move to ``assignments`` as
``UserProject`` grants; the bootstrap roles get Keystone's default implications
(admin implies member implies reader).
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _add_fk_column(table: str, column: str, ref: str, ondelete: str | None = None) -> None:
    """A nullable column referencing ``ref`` (``table.column``), added in place."""
    if op.get_bind().dialect.name == "sqlite":
        action = f" ON DELETE {ondelete}" if ondelete else ""
        ref_table, ref_col = ref.split(".")
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR(64) "
                   f"REFERENCES {ref_table} ({ref_col}){action}")
    else:
        op.add_column(table, sa.Column(column, sa.String(length=64), nullable=True))
        op.create_foreign_key(f"fk_{table}_{column}", table, ref.split(".")[0], [column],
                              [ref.split(".")[1]], ondelete=ondelete)


def upgrade() -> None:
    op.add_column('domains', sa.Column('description', sa.Text(), nullable=False,
                                       server_default=''))
    _add_fk_column('projects', 'parent_id', 'projects.id')
    op.create_index(op.f('ix_projects_parent_id'), 'projects', ['parent_id'], unique=False)
    op.add_column('projects', sa.Column('extra', sa.Text(), nullable=False,
                                        server_default='{}'))
    op.add_column('users', sa.Column('extra', sa.Text(), nullable=False, server_default='{}'))
    op.add_column('users', sa.Column('tokens_valid_after', sa.DateTime(), nullable=True))
    _add_fk_column('roles', 'domain_id', 'domains.id')
    op.create_index(op.f('ix_roles_domain_id'), 'roles', ['domain_id'], unique=False)
    op.add_column('roles', sa.Column('description', sa.Text(), nullable=True))

    op.create_table('project_tags',
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'name')
    )
    op.create_table('domain_config',
    sa.Column('domain_id', sa.String(length=64), nullable=False),
    sa.Column('group', sa.String(length=255), nullable=False),
    sa.Column('option', sa.String(length=255), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['domain_id'], ['domains.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('domain_id', 'group', 'option')
    )
    op.create_table('groups',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('domain_id', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['domain_id'], ['domains.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('domain_id', 'name')
    )
    op.create_table('user_group_membership',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('group_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'group_id')
    )
    op.create_index(op.f('ix_user_group_membership_group_id'), 'user_group_membership',
                    ['group_id'], unique=False)
    op.create_table('implied_roles',
    sa.Column('prior_role_id', sa.String(length=64), nullable=False),
    sa.Column('implied_role_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['implied_role_id'], ['roles.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['prior_role_id'], ['roles.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('prior_role_id', 'implied_role_id')
    )
    op.create_table('assignments',
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False),
    sa.Column('role_id', sa.String(length=64), nullable=False),
    sa.Column('inherited', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('type', 'actor_id', 'target_id', 'role_id', 'inherited')
    )
    op.create_index(op.f('ix_assignments_actor_id'), 'assignments', ['actor_id'], unique=False)
    op.create_index(op.f('ix_assignments_target_id'), 'assignments', ['target_id'],
                    unique=False)

    op.execute("INSERT INTO assignments (type, actor_id, target_id, role_id, inherited) "
                "SELECT 'UserProject', user_id, project_id, role_id, 0 FROM role_assignments")
    op.drop_table('role_assignments')
    for prior, implied in (("admin", "member"), ("member", "reader")):
        op.execute(
            "INSERT INTO implied_roles (prior_role_id, implied_role_id) "
            f"SELECT p.id, i.id FROM roles p, roles i WHERE p.name = '{prior}' "
            f"AND i.name = '{implied}'")


def downgrade() -> None:
    op.create_table('role_assignments',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('role_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'project_id', 'role_id')
    )
    op.execute("INSERT INTO role_assignments (user_id, project_id, role_id) "
               "SELECT a.actor_id, a.target_id, a.role_id FROM assignments a "
               "JOIN users u ON u.id = a.actor_id JOIN projects p ON p.id = a.target_id "
               "WHERE a.type = 'UserProject' AND NOT a.inherited")
    op.drop_index(op.f('ix_assignments_target_id'), table_name='assignments')
    op.drop_index(op.f('ix_assignments_actor_id'), table_name='assignments')
    op.drop_table('assignments')
    op.drop_table('implied_roles')
    op.drop_index(op.f('ix_user_group_membership_group_id'),
                  table_name='user_group_membership')
    op.drop_table('user_group_membership')
    op.drop_table('groups')
    op.drop_table('project_tags')
    op.drop_table('domain_config')
    # SQLite drops columns in place (3.35+); a column referencing another table cannot be
    # dropped that way, so those stay (unused) after a downgrade there.
    op.drop_column('roles', 'description')
    op.drop_index(op.f('ix_roles_domain_id'), table_name='roles')
    op.drop_column('users', 'tokens_valid_after')
    op.drop_column('users', 'extra')
    op.drop_column('projects', 'extra')
    op.drop_index(op.f('ix_projects_parent_id'), table_name='projects')
    op.drop_column('domains', 'description')
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint('fk_roles_domain_id', 'roles', type_='foreignkey')
        op.drop_column('roles', 'domain_id')
        op.drop_constraint('fk_projects_parent_id', 'projects', type_='foreignkey')
        op.drop_column('projects', 'parent_id')
