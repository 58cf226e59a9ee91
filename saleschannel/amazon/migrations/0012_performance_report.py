"""Amazon's own seller metrics, stored daily (AmazonPerformanceReport)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('amazon', '0011_store_notifications'),
    ]

    operations = [
        migrations.CreateModel(
            name='AmazonPerformanceReport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('marketplace_id', models.CharField(max_length=32, verbose_name='marketplace')),
                ('report_date', models.DateField(verbose_name='report date')),
                ('report_id', models.CharField(blank=True, max_length=64, verbose_name='report id')),
                ('generated_at', models.DateTimeField(blank=True, null=True, verbose_name='generated')),
                ('rates', models.JSONField(default=dict, verbose_name='rates')),
                ('fetched_at', models.DateTimeField(auto_now=True, verbose_name='fetched')),
                ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='performance_reports', to='amazon.amazonstore')),
            ],
            options={
                'verbose_name': 'Amazon performance report',
                'verbose_name_plural': 'Amazon performance reports',
                'ordering': ['-report_date', 'marketplace_id'],
                'constraints': [models.UniqueConstraint(fields=('store', 'marketplace_id', 'report_date'), name='amazon_performance_report_unique_per_day')],
            },
        ),
    ]
